"""Kubernetes Services, independent of who renders them: a Service and its Endpoints checked and
joined into one ``ContivService`` (``model``, ``processor``), and every service's join kept
current as services, endpoints and nodes change (``book``). Pure: imports models only, no VPP
and no NAT values; the renderers turn these models into VPP configuration."""
