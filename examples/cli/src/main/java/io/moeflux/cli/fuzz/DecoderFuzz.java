package io.moeflux.cli.fuzz;

import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.MeshSecret;
import io.moeflux.transport.protocol.AbortFrameCodec;
import io.moeflux.transport.protocol.ChallengeCodec;
import io.moeflux.transport.protocol.CombineFrameCodec;
import io.moeflux.transport.protocol.DispatchFrameCodec;
import io.moeflux.transport.protocol.ForwardWireCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.FrameValidator;
import io.moeflux.transport.protocol.GatherFrameCodec;
import io.moeflux.transport.protocol.Handshake;
import io.moeflux.transport.protocol.HandshakeCodec;
import io.moeflux.transport.protocol.HandshakeProofs;
import io.moeflux.transport.protocol.LaneOpenCodec;
import io.moeflux.transport.protocol.LongsFrameCodec;
import io.moeflux.transport.protocol.MigrationChunkCodec;
import io.moeflux.transport.protocol.ProofCodec;
import io.moeflux.transport.protocol.RowCoder;
import io.moeflux.transport.protocol.SetupCodec;
import io.moeflux.transport.protocol.WireFormat;
import io.moeflux.transport.protocol.WirePrecision;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The decoders target: every input goes to the frame validator and to every decoder of the protocol
 * package, in this process, in a pooled direct buffer as the network would deliver it. A decoder
 * must decode an input or refuse it with a {@link MeshException} or an {@link
 * IllegalArgumentException}; anything else (an index out of bounds, a huge allocation) is a crash.
 */
final class DecoderFuzz {
  private static final int HIDDEN = 8;
  private static final int TOP_K = 2;
  private static final int CAPACITY = 4;
  private static final InboundLimits SHAPED =
      InboundLimits.builder().shape(HIDDEN, TOP_K, CAPACITY, 4 * CAPACITY).build();

  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
  private final List<Consumer<ByteBuf>> decoders = decoders();
  private long accepted;
  private long refused;
  private final List<String> crashes = new ArrayList<>();

  /** Runs {@code inputs} inputs; the figures for the JSON line. */
  Map<String, Object> run(long inputs, long seed) {
    LeakCount.install();
    Mutator mutator = new Mutator(seeds(), seed);
    long started = System.nanoTime();
    for (long i = 0; i < inputs; i++) {
      byte[] input = mutator.next();
      // a plain wrapper: paranoid leak detection tracks what the decoders allocate, and would
      // record every read of a tracked input
      ByteBuf buf = Unpooled.wrappedBuffer(input);
      for (Consumer<ByteBuf> decoder : decoders) {
        decodeOne(decoder, buf, input);
      }
      buf.release();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("target", "decoders");
    result.put("inputs", inputs);
    result.put("decodes", accepted + refused + crashes.size());
    result.put("accepted", accepted);
    result.put("refused", refused);
    result.put("crashes", crashes.size());
    result.put("leaks", LeakCount.leaks());
    result.put("seconds", Math.round(seconds * 10) / 10.0);
    if (!crashes.isEmpty()) {
      result.put("first_crash", crashes.get(0));
    }
    return result;
  }

  private void decodeOne(Consumer<ByteBuf> decoder, ByteBuf buf, byte[] input) {
    int reader = buf.readerIndex();
    try {
      decoder.accept(buf);
      accepted++;
    } catch (MeshException | IllegalArgumentException e) {
      refused++;
    } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
      if (crashes.size() < 100) {
        crashes.add(e + " on " + ByteBufUtil.hexDump(input, 0, Math.min(input.length, 64)));
      }
    }
    buf.readerIndex(reader);
  }

  private static List<Consumer<ByteBuf>> decoders() {
    List<Consumer<ByteBuf>> all = new ArrayList<>();
    for (WirePrecision wire : WirePrecision.values()) {
      WireFormat both = new WireFormat(wire, wire);
      all.add(frame -> FrameValidator.validate(frame, 1, SHAPED, both));
      all.add(frame -> FrameValidator.validate(frame, 1, InboundLimits.DEFAULTS, both));
      all.add(frame -> DispatchFrameCodec.checkBody(frame, TOP_K, HIDDEN, wire));
      all.add(frame -> CombineFrameCodec.checkBody(frame, HIDDEN, wire));
      all.add(frame -> GatherFrameCodec.checkBody(frame, 2 * CAPACITY, TOP_K, HIDDEN, wire));
    }
    all.add(frame -> LongsFrameCodec.decode(frame, 3, new long[3], 0));
    all.add(frame -> MigrationChunkCodec.decode(frame, new float[64], 0));
    all.add(AbortFrameCodec::reason);
    all.add(HandshakeCodec::decode);
    all.add(SetupCodec::decode);
    all.add(ChallengeCodec::decodeAnswer);
    all.add(ProofCodec::decode);
    all.add(frame -> LaneOpenCodec.decode(frame, 1));
    all.add(frame -> ForwardWireCodec.decodeRequest(frame, HIDDEN));
    all.add(ForwardWireCodec::decodeResponse);
    return all;
  }

  /** A valid message of every layout the decoders know. */
  private List<byte[]> seeds() {
    List<byte[]> seeds = new ArrayList<>();
    float[] rows = new float[CAPACITY * HIDDEN];
    int[] ids = new int[CAPACITY * TOP_K];
    float[] weights = new float[CAPACITY * TOP_K];
    for (int count = 0; count <= CAPACITY; count += 2) {
      for (WirePrecision wire : WirePrecision.values()) {
        RowCoder coder = new RowCoder(wire, HIDDEN);
        ByteBuf dispatch =
            DispatchFrameCodec.allocate(alloc, 5, 1, 0, 1, count, TOP_K, HIDDEN, wire);
        dispatch.writeZero((int) DispatchFrameCodec.bodyBytes(count, TOP_K, HIDDEN, wire));
        seeds.add(Mutator.bytes(dispatch));
        seeds.add(Mutator.bytes(CombineFrameCodec.encode(alloc, 5, 1, 1, rows, count, coder)));
        seeds.add(
            Mutator.bytes(
                GatherFrameCodec.encode(
                    alloc, 5, 1, 1, count, count + 1, TOP_K, ids, weights, rows, coder)));
      }
      seeds.add(
          Mutator.bytes(
              ForwardWireCodec.encodeRequest(alloc, -1, count, HIDDEN, new float[count * HIDDEN])));
      seeds.add(
          Mutator.bytes(
              ForwardWireCodec.encodeResponse(
                  alloc,
                  new ForwardWireCodec.Response(
                      1,
                      9,
                      count,
                      HIDDEN,
                      TOP_K,
                      new float[count * HIDDEN],
                      new int[count * TOP_K],
                      new float[count * TOP_K]))));
    }
    seeds.add(
        Mutator.bytes(
            LongsFrameCodec.encode(alloc, FrameKind.SYNC, 5, 0, 1, new long[] {1, 2, 3})));
    seeds.add(Mutator.bytes(LongsFrameCodec.encode(alloc, FrameKind.PLAN, 5, -1, 1, new long[0])));
    seeds.add(Mutator.bytes(MigrationChunkCodec.encode(alloc, 3, 0, 1, rows, 0, 16)));
    seeds.add(
        Mutator.bytes(AbortFrameCodec.encode(alloc, 5, 1, "5 tokens exceed the capacity of 4")));
    MeshFingerprint fingerprint =
        MeshFingerprint.builder().put("model", "0123456789abcdef").put("capacity", 4).build();
    Handshake handshake = Handshake.current(1, 2, fingerprint);
    byte[] nonce = HandshakeProofs.nonce();
    byte[] tag = HandshakeProofs.groupTag(MeshSecret.NONE, 2, fingerprint);
    seeds.add(Mutator.bytes(HandshakeCodec.encode(alloc, handshake)));
    seeds.add(Mutator.bytes(SetupCodec.encode(alloc, 1, nonce)));
    seeds.add(Mutator.bytes(ChallengeCodec.encodeRequest(alloc)));
    seeds.add(Mutator.bytes(ChallengeCodec.encodeAnswer(alloc, nonce, tag, tag)));
    seeds.add(Mutator.bytes(ProofCodec.encode(alloc, tag, tag, handshake)));
    seeds.add(Mutator.bytes(LaneOpenCodec.encode(alloc, 1, FrameKind.Lane.DATA)));
    return seeds;
  }
}
