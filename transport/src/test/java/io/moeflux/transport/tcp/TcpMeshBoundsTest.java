package io.moeflux.transport.tcp;

import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.testkit.MeshBoundsContract;

class TcpMeshBoundsTest extends MeshBoundsContract {
  @Override
  protected MeshTransport transport(int worldSize) {
    return TcpMeshTransport.loopback(worldSize);
  }
}
