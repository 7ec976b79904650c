"""The CNI side: request/result types shared by the `contivpy cni` plugin and the agent."""
