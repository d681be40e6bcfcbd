"""workerkit/imagelib"""
