"""Serving: talking to a generator deployed on TensorFlow Serving (`rest_client`: the REST
predict request and the served frame). The SavedModel it serves is written by `dptn_tf.export`.

Imports nothing of dptn_tf but `pose` (for the photo's PNG bytes); no TensorFlow.
"""
