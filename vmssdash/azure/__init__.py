"""vmssdash.azure"""
