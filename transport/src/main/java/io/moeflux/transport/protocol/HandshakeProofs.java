package io.moeflux.transport.protocol;

import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.MeshSecret;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The bytes the mutual challenge-response authenticates: HMAC-SHA256 with the group's {@link
 * MeshSecret}, so that no secret crosses the wire.
 *
 * <pre>
 * group tag        HMAC(secret, "moeflux group" | int32 world | int32 n | n sorted entries
 *                       × (int32 key bytes | key | int32 value bytes | value))
 * accepting proof  HMAC(secret, "moeflux accepting rank" | connecting nonce | accepting nonce
 *                       | int32 accepting rank | accepting group tag)
 * connecting proof HMAC(secret, "moeflux connecting rank" | accepting nonce | connecting nonce
 *                       | int32 connecting rank | connecting group tag)
 * </pre>
 *
 * Each side proves over a nonce the other side chose for this connection, so a recorded proof fails
 * on any other connection; the two labels keep one side's proof from passing as the other's. The
 * group tag binds a proof to the world size and the fingerprint without showing either: a prover
 * whose proof holds but whose tag differs holds the secret and runs another group, which the
 * handshake then explains to it (it is a member); a proof that fails says only "refused".
 */
public final class HandshakeProofs {
  public static final int NONCE_BYTES = 32;
  public static final int MAC_BYTES = 32;

  private static final String ALGORITHM = "HmacSHA256";
  private static final byte[] GROUP = label("moeflux group");
  private static final byte[] ACCEPTING = label("moeflux accepting rank");
  private static final byte[] CONNECTING = label("moeflux connecting rank");
  private static final SecureRandom RANDOM = new SecureRandom();

  private HandshakeProofs() {}

  /** A fresh random nonce. */
  public static byte[] nonce() {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    return nonce;
  }

  /** The tag of a group of {@code worldSize} ranks with {@code fingerprint}. */
  public static byte[] groupTag(MeshSecret secret, int worldSize, MeshFingerprint fingerprint) {
    Mac mac = mac(secret);
    mac.update(GROUP);
    mac.update(int32(worldSize));
    Map<String, String> sorted = new TreeMap<>(fingerprint.entries());
    mac.update(int32(sorted.size()));
    sorted.forEach(
        (key, value) -> {
          updateText(mac, key);
          updateText(mac, value);
        });
    return mac.doFinal();
  }

  /** What the accepting rank proves: the connecting side's nonce comes first. */
  public static byte[] acceptingProof(
      MeshSecret secret, byte[] connectingNonce, byte[] acceptingNonce, int rank, byte[] tag) {
    return proof(secret, ACCEPTING, connectingNonce, acceptingNonce, rank, tag);
  }

  /** What the connecting rank proves: the accepting side's nonce comes first. */
  public static byte[] connectingProof(
      MeshSecret secret, byte[] acceptingNonce, byte[] connectingNonce, int rank, byte[] tag) {
    return proof(secret, CONNECTING, acceptingNonce, connectingNonce, rank, tag);
  }

  /** Compares two MACs in time that does not depend on where they differ. */
  public static boolean matches(byte[] expected, byte[] actual) {
    return MessageDigest.isEqual(expected, actual);
  }

  static void checkLength(String what, byte[] bytes, int length) {
    if (bytes.length != length) {
      throw new IllegalArgumentException(
          what + " must be " + length + " bytes, got " + bytes.length);
    }
  }

  private static byte[] proof(
      MeshSecret secret, byte[] label, byte[] theirNonce, byte[] ownNonce, int rank, byte[] tag) {
    checkLength("nonce", theirNonce, NONCE_BYTES);
    checkLength("nonce", ownNonce, NONCE_BYTES);
    checkLength("group tag", tag, MAC_BYTES);
    Mac mac = mac(secret);
    mac.update(label);
    mac.update(theirNonce);
    mac.update(ownNonce);
    mac.update(int32(rank));
    mac.update(tag);
    return mac.doFinal();
  }

  private static Mac mac(MeshSecret secret) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(new SecretKeySpec(secret.key(), ALGORITHM));
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 is not available in this JVM", e);
    }
  }

  private static void updateText(Mac mac, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    mac.update(int32(bytes.length));
    mac.update(bytes);
  }

  private static byte[] int32(int value) {
    return ByteBuffer.allocate(Integer.BYTES).putInt(value).array();
  }

  private static byte[] label(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(Integer.BYTES + bytes.length)
        .putInt(bytes.length)
        .put(bytes)
        .array();
  }
}
