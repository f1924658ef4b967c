package io.moeflux.transport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;

/**
 * The secret the ranks of one group share, and prove to each other in the handshake without sending
 * it ({@link io.moeflux.transport.protocol.HandshakeProofs}). It never appears in a message or in
 * {@link #toString()}.
 *
 * <p>{@link #NONE} is a key everybody knows: a group on loopback or in one JVM may run without a
 * secret, and then the proofs prove nothing. {@link MeshConfig.Builder#build()} refuses it for a
 * rank whose address is not loopback.
 */
public final class MeshSecret {
  /** Shorter secrets are refused: a secret is meant to be guessed by nobody. */
  public static final int MIN_BYTES = 16;

  /** Longer secret files are refused before they are read whole. */
  public static final int MAX_BYTES = 4096;

  /** No secret: a publicly known key, for groups that only loopback or one JVM can reach. */
  public static final MeshSecret NONE =
      new MeshSecret("moeflux: no secret".getBytes(StandardCharsets.UTF_8));

  private static final SecureRandom RANDOM = new SecureRandom();

  private final byte[] key;

  private MeshSecret(byte[] key) {
    this.key = key;
  }

  /** A secret of these bytes (copied). */
  public static MeshSecret of(byte[] key) {
    Objects.requireNonNull(key, "key");
    if (key.length < MIN_BYTES) {
      throw new IllegalArgumentException(
          "a mesh secret needs at least " + MIN_BYTES + " bytes, got " + key.length);
    }
    return new MeshSecret(key.clone());
  }

  /** 32 random bytes: for a group whose ranks all start in one JVM. */
  public static MeshSecret random() {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    return new MeshSecret(key);
  }

  /**
   * The secret in {@code file}: its bytes, without trailing line breaks and spaces (so that {@code
   * echo ... > FILE} and a Kubernetes Secret work alike).
   *
   * @throws IllegalArgumentException naming the file when it cannot be read, is empty, too short or
   *     too long
   */
  public static MeshSecret fromFile(Path file) {
    Objects.requireNonNull(file, "file");
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > MAX_BYTES) {
        throw new IllegalArgumentException(
            "secret file " + file + " holds " + size + " bytes, more than " + MAX_BYTES);
      }
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read secret file " + file + ": " + e, e);
    }
    int length = bytes.length;
    while (length > 0 && isTrailingSpace(bytes[length - 1])) {
      length--;
    }
    if (length < MIN_BYTES) {
      throw new IllegalArgumentException(
          "secret file "
              + file
              + " holds "
              + length
              + " bytes, at least "
              + MIN_BYTES
              + " are needed (for example: head -c 32 /dev/urandom | base64 > "
              + file
              + ")");
    }
    return new MeshSecret(Arrays.copyOf(bytes, length));
  }

  /** The key bytes (a copy), for the proofs. */
  public byte[] key() {
    return key.clone();
  }

  /** Whether this is {@link #NONE}. */
  public boolean isNone() {
    return this == NONE;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof MeshSecret that && MessageDigest.isEqual(key, that.key);
  }

  @Override
  public int hashCode() {
    return key.length;
  }

  /** Never the key. */
  @Override
  public String toString() {
    return isNone() ? "none" : "secret(" + key.length + " bytes)";
  }

  private static boolean isTrailingSpace(byte b) {
    return b == '\n' || b == '\r' || b == ' ' || b == '\t';
  }
}
