"""workerkit/imagelib/domain"""
