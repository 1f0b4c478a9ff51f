"""The pure scheduling core: time arithmetic with no Flask, SQLAlchemy, request or clock.

Every function here takes values and returns values; `now` is always an argument.
"""
