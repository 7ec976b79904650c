"""The node agent: composition of store, event loop, controllers, scheduler, VPP, servers."""
