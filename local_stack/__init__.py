"""The local stack: moto in server mode, a gateway in front of the real handlers, and a stand-in Walmart."""
