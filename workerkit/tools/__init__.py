"""workerkit/tools"""
