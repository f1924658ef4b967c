package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.MeshSecret;
import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterProperty;

/**
 * Property tests over every codec of the protocol package: what is encoded decodes to itself and
 * passes {@link FrameValidator}; any bytes at all, and any one-byte mutation of a valid message,
 * are either decoded or refused with a {@link MeshException} or {@link IllegalArgumentException},
 * never anything else, and leak nothing.
 */
class CodecPropertiesTest {
  private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

  @AfterProperty
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @Property(tries = 200)
  void dispatchFramesRoundTrip(
      @ForAll @IntRange(max = 8) int count,
      @ForAll @IntRange(min = 1, max = 4) int topK,
      @ForAll @IntRange(min = 1, max = 16) int hidden,
      @ForAll WirePrecision wire,
      @ForAll long seed) {
    Random random = new Random(seed);
    float[] rows = new float[count * hidden];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = random.nextFloat();
    }
    ByteBuf frame =
        DispatchFrameCodec.allocate(ALLOC, seed & 0xffff, 1, 1, 2, count, topK, hidden, wire);
    RowCoder coder = new RowCoder(wire, hidden);
    try {
      int[] slots = new int[count * topK];
      WireRows view = DispatchFrameCodec.rows(frame, count, topK, hidden, wire);
      for (int t = 0; t < count; t++) {
        for (int k = 0; k < topK; k++) {
          slots[t * topK + k] = random.nextInt(9) - 1;
          DispatchFrameCodec.setPick(frame, count, t, k, topK, slots[t * topK + k], t + k);
        }
        coder.encode(rows, t * hidden, view, t);
      }
      DispatchFrameCodec.finish(frame, count, topK, hidden, wire);
      FrameValidator.validate(frame, 2, shape(hidden, topK, 8), WireFormat.of(wire));
      assertThat(DispatchFrameCodec.checkBody(frame, topK, hidden, wire)).isEqualTo(count);
      float[] read = new float[rows.length];
      float[] expected = new float[rows.length];
      WireRows received = DispatchFrameCodec.rows(frame, count, topK, hidden, wire);
      for (int t = 0; t < count; t++) {
        coder.decode(received, t, read, t * hidden);
        coder.roundTrip(rows, t * hidden, expected, t * hidden);
      }
      assertThat(read).containsExactly(expected);
      for (int t = 0; t < count; t++) {
        for (int k = 0; k < topK; k++) {
          assertThat(DispatchFrameCodec.localSlot(frame, t, k, topK))
              .isEqualTo(slots[t * topK + k]);
          assertThat(DispatchFrameCodec.weight(frame, count, t, k, topK)).isEqualTo(t + k);
        }
      }
    } finally {
      frame.release();
    }
  }

  @Property(tries = 200)
  void combineAndGatherFramesRoundTrip(
      @ForAll @IntRange(max = 6) int count,
      @ForAll @IntRange(max = 3) int extraPadding,
      @ForAll @IntRange(min = 1, max = 3) int topK,
      @ForAll @IntRange(min = 1, max = 8) int hidden,
      @ForAll WirePrecision wire) {
    float[] rows = new float[count * hidden];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = i * 0.5f - 3;
    }
    int padded = count + extraPadding;
    int[] ids = new int[count * topK];
    float[] weights = new float[count * topK];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = i % 5;
      weights[i] = i / 7f;
    }
    RowCoder coder = new RowCoder(wire, hidden);
    ByteBuf combine = CombineFrameCodec.encode(ALLOC, 3, 0, 1, rows, count, coder);
    ByteBuf gather =
        GatherFrameCodec.encode(ALLOC, 3, 0, 1, count, padded, topK, ids, weights, rows, coder);
    try {
      InboundLimits limits = shape(hidden, topK, 9);
      WireFormat both = new WireFormat(wire, wire);
      FrameValidator.validate(combine, 1, limits, both);
      FrameValidator.validate(gather, 1, limits, both);
      assertThat(CombineFrameCodec.checkBody(combine, hidden, wire)).isEqualTo(count);
      assertThat(GatherFrameCodec.checkBody(gather, padded, topK, hidden, wire)).isEqualTo(count);
      float[] expected = new float[rows.length];
      for (int t = 0; t < count; t++) {
        coder.roundTrip(rows, t * hidden, expected, t * hidden);
      }
      float[] read = new float[rows.length];
      WireRows partials = CombineFrameCodec.rows(combine, count, hidden, wire);
      for (int t = 0; t < count; t++) {
        coder.decode(partials, t, read, t * hidden);
      }
      assertThat(read).containsExactly(expected);
      WireRows gathered = GatherFrameCodec.rows(gather, count, padded, topK, hidden, wire);
      for (int t = 0; t < count; t++) {
        coder.decode(gathered, t, read, t * hidden);
      }
      assertThat(read).containsExactly(expected);
      for (int t = 0; t < count; t++) {
        for (int k = 0; k < topK; k++) {
          assertThat(GatherFrameCodec.expertId(gather, t, k, topK)).isEqualTo(ids[t * topK + k]);
          assertThat(GatherFrameCodec.weight(gather, count, t, k, topK))
              .isEqualTo(weights[t * topK + k]);
        }
      }
    } finally {
      combine.release();
      gather.release();
    }
  }

  @Property(tries = 200)
  void longsMigrationAndAbortFramesRoundTrip(
      @ForAll @Size(max = 20) long[] values,
      @ForAll @Size(max = 20) float[] floats,
      @ForAll @Size(max = 300) String reason) {
    ByteBuf longs = LongsFrameCodec.encode(ALLOC, FrameKind.HEAT, 4, 0, 1, values);
    ByteBuf chunk = MigrationChunkCodec.encode(ALLOC, 9, 2, 1, floats, 0, floats.length);
    ByteBuf abort = AbortFrameCodec.encode(ALLOC, 5, 1, reason);
    try {
      for (ByteBuf frame : new ByteBuf[] {longs, chunk, abort}) {
        FrameValidator.validate(frame, 1, InboundLimits.DEFAULTS, WireFormat.F32);
      }
      long[] read = new long[values.length];
      LongsFrameCodec.decode(longs, values.length, read, 0);
      assertThat(read).containsExactly(values);
      float[] readFloats = new float[floats.length];
      assertThat(MigrationChunkCodec.decode(chunk, readFloats, 0)).isEqualTo(floats.length);
      assertThat(readFloats).containsExactly(floats);
      assertThat(AbortFrameCodec.reason(abort)).isEqualTo(reason);
    } finally {
      longs.release();
      chunk.release();
      abort.release();
    }
  }

  @Property(tries = 200)
  void handshakeMessagesRoundTrip(
      @ForAll @IntRange(max = 63) int rank,
      @ForAll @IntRange(min = 1, max = 64) int world,
      @ForAll("fingerprints") MeshFingerprint fingerprint) {
    Handshake handshake = Handshake.current(rank, world, fingerprint);
    byte[] nonce = HandshakeProofs.nonce();
    byte[] tag = HandshakeProofs.groupTag(MeshSecret.NONE, world, fingerprint);
    ByteBuf hello = HandshakeCodec.encode(ALLOC, handshake);
    ByteBuf setup = SetupCodec.encode(ALLOC, rank, nonce);
    ByteBuf proof = ProofCodec.encode(ALLOC, tag, nonce, handshake);
    ByteBuf lane = LaneOpenCodec.encode(ALLOC, rank, FrameKind.Lane.BULK);
    try {
      assertThat(HandshakeCodec.decode(hello)).isEqualTo(handshake);
      assertThat(SetupCodec.decode(setup).nonce()).isEqualTo(nonce);
      assertThat(ProofCodec.decode(proof).handshake()).isEqualTo(handshake);
      assertThat(ProofCodec.decode(proof).groupTag()).isEqualTo(tag);
      assertThat(LaneOpenCodec.decode(lane, rank)).isEqualTo(FrameKind.Lane.BULK);
    } finally {
      hello.release();
      setup.release();
      proof.release();
      lane.release();
    }
  }

  @Property(tries = 300)
  void anyBytesAreDecodedOrRefusedCleanly(@ForAll @Size(max = 200) byte[] bytes) {
    everyDecoderOn(Unpooled.wrappedBuffer(bytes));
  }

  @Property(tries = 300)
  void aValidFrameWithOneByteChangedIsDecodedOrRefusedCleanly(
      @ForAll("frames") byte[] frame, @ForAll @IntRange(max = 10_000) int at, @ForAll byte value) {
    byte[] mutated = frame.clone();
    mutated[at % mutated.length] = value;
    everyDecoderOn(Unpooled.wrappedBuffer(mutated));
  }

  /** Every decoder of the package on {@code input}: decoded, or refused with a clear error. */
  private static void everyDecoderOn(ByteBuf input) {
    for (WirePrecision wire : WirePrecision.values()) {
      WireFormat both = new WireFormat(wire, wire);
      refusedCleanly(frame -> FrameValidator.validate(frame, 1, shape(4, 2, 3), both), input);
      refusedCleanly(
          frame -> FrameValidator.validate(frame, 1, InboundLimits.DEFAULTS, both), input);
      refusedCleanly(frame -> DispatchFrameCodec.checkBody(frame, 2, 4, wire), input);
      refusedCleanly(frame -> CombineFrameCodec.checkBody(frame, 4, wire), input);
      refusedCleanly(frame -> GatherFrameCodec.checkBody(frame, 5, 2, 4, wire), input);
    }
    refusedCleanly(frame -> LongsFrameCodec.decode(frame, 3, new long[3], 0), input);
    refusedCleanly(frame -> MigrationChunkCodec.decode(frame, new float[16], 0), input);
    refusedCleanly(AbortFrameCodec::reason, input);
    refusedCleanly(HandshakeCodec::decode, input);
    refusedCleanly(SetupCodec::decode, input);
    refusedCleanly(ChallengeCodec::decodeAnswer, input);
    refusedCleanly(ProofCodec::decode, input);
    refusedCleanly(frame -> LaneOpenCodec.decode(frame, 1), input);
    refusedCleanly(frame -> ForwardWireCodec.decodeRequest(frame, 4), input);
    refusedCleanly(ForwardWireCodec::decodeResponse, input);
    input.release();
  }

  private static void refusedCleanly(Consumer<ByteBuf> decoder, ByteBuf input) {
    int reader = input.readerIndex();
    try {
      decoder.accept(input);
    } catch (MeshException | IllegalArgumentException refused) {
      assertThat(refused.getMessage()).isNotBlank();
    }
    assertThat(input.readerIndex()).isEqualTo(reader);
  }

  private static InboundLimits shape(int hidden, int topK, int capacity) {
    return InboundLimits.builder().shape(hidden, topK, capacity, capacity + 3).build();
  }

  @Provide
  Arbitrary<MeshFingerprint> fingerprints() {
    Arbitrary<String> keys = Arbitraries.strings().ofMinLength(1).ofMaxLength(12);
    Arbitrary<String> values = Arbitraries.strings().ofMaxLength(40);
    return Arbitraries.maps(keys, values)
        .ofMaxSize(8)
        .map(
            (Map<String, String> entries) -> {
              MeshFingerprint.Builder builder = MeshFingerprint.builder();
              entries.forEach(builder::put);
              return builder.build();
            });
  }

  @Provide
  Arbitrary<byte[]> frames() {
    return Arbitraries.of(FrameKind.values())
        .flatMap(
            kind ->
                Arbitraries.integers()
                    .between(0, 6)
                    .map(
                        count -> {
                          int body =
                              kind == FrameKind.ABORT
                                  ? count
                                  : kind.lane() == FrameKind.Lane.CONTROL
                                      ? count * 8
                                      : count * (kind == FrameKind.MIGRATION ? 4 : 24);
                          ByteBuf frame =
                              FrameHeaderCodec.allocate(ALLOC, kind, 1, 0, 1, count, body);
                          try {
                            frame.writeZero(body);
                            byte[] bytes = new byte[frame.readableBytes()];
                            frame.getBytes(0, bytes);
                            return bytes;
                          } finally {
                            frame.release();
                          }
                        }));
  }
}
