package io.moeflux.transport;

import java.util.List;
import java.util.UUID;

class LocalRankMeshTest extends RankMeshContract {
  @Override
  List<MeshConfig> configs(int ranks, String fingerprint) {
    return MeshConfigs.local(UUID.randomUUID().toString(), ranks, fingerprint);
  }
}
