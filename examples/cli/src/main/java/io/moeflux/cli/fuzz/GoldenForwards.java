package io.moeflux.cli.fuzz;

import io.moeflux.cli.client.ForwardClientExample;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import reactor.core.publisher.Flux;

/**
 * A fixed set of {@code moe.forward} requests and the outputs a healthy server gave them: the same
 * requests later must get bitwise the same outputs (a token's output depends only on its input and
 * the placement, which stays put during a fuzz run). Proves that the group still runs, and runs
 * right, after an attack.
 */
final class GoldenForwards {
  private final List<float[]> inputs = new ArrayList<>();
  private final List<Integer> tokens = new ArrayList<>();
  private final int hidden;
  private List<byte[]> golden = List.of();

  GoldenForwards(int requests, int hidden, int maxTokens, long seed) {
    this.hidden = hidden;
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < requests; i++) {
      int n = 1 + random.nextInt(maxTokens);
      float[] data = new float[n * hidden];
      for (int j = 0; j < data.length; j++) {
        data[j] = (float) (random.nextDouble() * 2 - 1);
      }
      inputs.add(data);
      tokens.add(n);
    }
  }

  /** Sends every request and keeps the outputs as the golden ones. */
  void record(RSocket client) {
    golden = outputs(client);
  }

  /** Sends every request again; returns how many outputs differ from the golden ones. */
  long mismatches(RSocket client) {
    List<byte[]> now = outputs(client);
    long mismatches = 0;
    for (int i = 0; i < golden.size(); i++) {
      if (i >= now.size() || !Arrays.equals(golden.get(i), now.get(i))) {
        mismatches++;
      }
    }
    return mismatches;
  }

  int requests() {
    return inputs.size();
  }

  private List<byte[]> outputs(RSocket client) {
    Flux<Payload> requests =
        Flux.range(0, inputs.size())
            .map(
                i ->
                    ForwardClientExample.routed(
                        "moe.forward",
                        ForwardWireCodec.encodeRequest(
                            ByteBufAllocator.DEFAULT, -1, tokens.get(i), hidden, inputs.get(i))));
    return client
        .requestChannel(requests)
        .map(
            payload -> {
              try {
                ByteBuf data = payload.sliceData();
                int values = ForwardWireCodec.responseTokens(data) * hidden * Float.BYTES;
                return ByteBufUtil.getBytes(
                    data, data.readerIndex() + ForwardWireCodec.RESPONSE_HEADER_BYTES, values);
              } finally {
                payload.release();
              }
            })
        .collectList()
        .block(Duration.ofMinutes(2));
  }
}
