package io.moeflux.cli.fuzz;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Inputs for a decoder: valid messages (the seeds) mutated the ways that break parsers — bits
 * flipped, bytes and 32-bit fields overwritten with edge values, cut short, grown, spliced — and
 * plain random bytes. Deterministic for a seed.
 */
final class Mutator {
  private static final int[] EDGES = {
    0,
    1,
    -1,
    2,
    7,
    8,
    16,
    24,
    255,
    256,
    65535,
    65536,
    1 << 20,
    1 << 24,
    Integer.MAX_VALUE,
    Integer.MIN_VALUE,
    Integer.MAX_VALUE - 7
  };

  private final List<byte[]> seeds;
  private final SplittableRandom random;

  Mutator(List<byte[]> seeds, long seed) {
    this.seeds = List.copyOf(seeds);
    this.random = new SplittableRandom(seed);
  }

  /** The bytes of an encoded message (released): a seed. */
  static byte[] bytes(ByteBuf encoded) {
    try {
      return ByteBufUtil.getBytes(encoded);
    } finally {
      encoded.release();
    }
  }

  /** The next input. */
  byte[] next() {
    int choice = random.nextInt(10);
    if (choice == 0) {
      byte[] noise = new byte[random.nextInt(513)];
      random.nextBytes(noise);
      return noise;
    }
    byte[] input = seed().clone();
    int mutations = 1 + random.nextInt(3);
    for (int i = 0; i < mutations; i++) {
      input = mutate(input);
    }
    return input;
  }

  private byte[] seed() {
    return seeds.get(random.nextInt(seeds.size()));
  }

  private byte[] mutate(byte[] input) {
    if (input.length == 0) {
      return new byte[] {(byte) random.nextInt()};
    }
    switch (random.nextInt(7)) {
      case 0:
        input[random.nextInt(input.length)] ^= (byte) (1 << random.nextInt(8));
        return input;
      case 1:
        input[random.nextInt(input.length)] = (byte) random.nextInt();
        return input;
      case 2:
        return edgeField(input);
      case 3:
        return Arrays.copyOf(input, random.nextInt(input.length));
      case 4:
        byte[] grown = Arrays.copyOf(input, input.length + 1 + random.nextInt(64));
        for (int i = input.length; i < grown.length; i++) {
          grown[i] = (byte) random.nextInt();
        }
        return grown;
      case 5:
        byte[] other = seed();
        int cut = random.nextInt(input.length);
        int from = random.nextInt(other.length + 1);
        byte[] spliced = Arrays.copyOf(input, cut + other.length - from);
        System.arraycopy(other, from, spliced, cut, other.length - from);
        return spliced;
      default:
        return edgeField(edgeField(input));
    }
  }

  /** A big- or little-endian int32 at an aligned offset set to an edge value. */
  private byte[] edgeField(byte[] input) {
    if (input.length < 4) {
      return input;
    }
    int at = random.nextInt(input.length / 4) * 4;
    int value = EDGES[random.nextInt(EDGES.length)];
    boolean little = random.nextBoolean();
    for (int i = 0; i < 4; i++) {
      int shift = little ? 8 * i : 8 * (3 - i);
      input[at + i] = (byte) (value >>> shift);
    }
    return input;
  }
}
