"""workerkit/imagelib/legacy_workers"""
