"""workerkit/imagelib/pool_workers"""
