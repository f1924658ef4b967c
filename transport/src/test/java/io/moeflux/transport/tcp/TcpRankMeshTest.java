package io.moeflux.transport.tcp;

import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.testkit.RankMeshContract;
import java.util.ArrayList;
import java.util.List;

class TcpRankMeshTest extends RankMeshContract {
  @Override
  protected MeshTransport transport(int worldSize) {
    return TcpMeshTransport.loopback(worldSize);
  }

  @Override
  protected MeshTransport grownByOne(MeshTransport group) {
    List<String> addresses = new ArrayList<>(((TcpMeshTransport) group).addresses());
    addresses.add("127.0.0.1:1");
    return TcpMeshTransport.of(addresses);
  }
}
