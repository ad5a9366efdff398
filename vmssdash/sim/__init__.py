"""vmssdash.sim"""
