"""The CNI side: request/result types shared by the `contivpy cni` plugin and the agent
(``types``), what the agent implements for it (``handler``), the agent's RemoteCNI server
(``server``), the plugin (``plugin``) and its client of that server (``client``: the
messages in ``wire``, a blocking gRPC unary call in ``grpc_unary`` with HPACK in
``hpack_codec`` and ``hpack_huffman``: no asyncio or grpclib in the exec'd plugin)."""
