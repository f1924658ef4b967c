package io.moeflux.transport.local;

import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.testkit.MeshAuthContract;

class LocalMeshAuthTest extends MeshAuthContract {
  @Override
  protected MeshTransport transport(int worldSize) {
    return LocalMeshTransport.unique();
  }
}
