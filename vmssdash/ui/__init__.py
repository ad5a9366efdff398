"""vmssdash.ui"""
