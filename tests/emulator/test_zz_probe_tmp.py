import os
def test_fs(firestore_emulator):
    print(firestore_emulator, os.environ["FIRESTORE_EMULATOR_HOST"])
def test_ps(pubsub_emulator):
    print(pubsub_emulator, os.environ["PUBSUB_EMULATOR_HOST"])
