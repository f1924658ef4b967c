package io.moeflux.transport;

import java.util.List;

class TcpRankMeshTest extends RankMeshContract {
  @Override
  List<MeshConfig> configs(int ranks, String fingerprint) {
    return MeshConfigs.loopbackTcp(ranks, fingerprint);
  }
}
