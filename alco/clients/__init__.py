"""What applications use: the logging handler, its publisher, the line sender, the API client.

Needs only pika and orjson (``pip install alco``): nothing here imports the server.
"""
