"""The test bed's images (compose.yaml): the jetkube image and the NATS image.

Their recipes live in :mod:`images.testbed.recipes`; ``images/build.py`` lists them in its image
table, so ``python images/build.py --only jetkube --only nats`` (or ``jetkube testbed up``) builds
them, cached by recipe hash like every other image.
"""
