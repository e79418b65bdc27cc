"""The framework every chapter stands on; imports nothing else from ``course_utils``."""
