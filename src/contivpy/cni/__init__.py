"""The CNI side: request/result types shared by the `contivpy cni` plugin and the agent
(``types``; the codes and error in ``errors``), what the agent implements for it
(``handler``), the plugin (``plugin``) and its client of the agent's RemoteCNI server
(``client``: the messages in ``wire``, a blocking gRPC unary call in ``grpc_unary`` with
HPACK in ``hpack_codec`` and ``hpack_huffman``, JSON in ``json_text``: no asyncio, grpclib,
dataclasses, typing or json in the exec'd plugin)."""
