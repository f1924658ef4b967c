package io.moeflux.transport.tcp;

import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.testkit.MeshAuthContract;

class TcpMeshAuthTest extends MeshAuthContract {
  @Override
  protected MeshTransport transport(int worldSize) {
    return TcpMeshTransport.loopback(worldSize);
  }
}
