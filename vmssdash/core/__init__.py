"""vmssdash.core"""
