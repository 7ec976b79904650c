"""Service function chains, independent of who renders them: a chain's spec checked and
turned into elements (``chains``), and the one data path every node derives for it from the
cluster's facts (``paths``). Pure: imports models only, so the agent and the reflector read
the same answer."""
