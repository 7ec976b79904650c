"""Which VPP the contract and descriptor suites run against: the simulator, or a real VPP.

With ``CONTIVPY_VPP_SOCKET`` set to a running VPP's API socket the suites run there (``make
test-vpp``); without it, on a fresh simulator per test, as always.
"""
