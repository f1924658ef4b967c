package io.moeflux.transport.local;

import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.testkit.RankMeshContract;

class LocalRankMeshTest extends RankMeshContract {
  @Override
  protected MeshTransport transport(int worldSize) {
    return LocalMeshTransport.unique();
  }

  @Override
  protected MeshTransport grownByOne(MeshTransport group) {
    return group;
  }
}
