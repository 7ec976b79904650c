"""The node agent's event side: etcd changes, CNI requests, VPP restarts and timers become
events on one serial loop; controllers fold each into one scheduler transaction."""
