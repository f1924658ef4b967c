package io.moeflux.transport.local;

import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.testkit.MeshBoundsContract;

class LocalMeshBoundsTest extends MeshBoundsContract {
  @Override
  protected MeshTransport transport(int worldSize) {
    return LocalMeshTransport.unique();
  }
}
