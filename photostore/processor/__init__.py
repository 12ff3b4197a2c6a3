"""The image processor: Kafka consumer, image kernels (NumPy or CuPy) and the per-photo pipeline.

Public entry points: `photostore.processor.service.main` (the `photostore processor` command)
and `photostore.processor.pipeline.process_image` (decode + kernels + thumbnails of one photo).
"""
