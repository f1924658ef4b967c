package io.moeflux.serving.auth;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.rsocket.metadata.AuthMetadataCodec;
import io.rsocket.metadata.CompositeMetadata;
import io.rsocket.metadata.CompositeMetadataCodec;
import io.rsocket.metadata.WellKnownAuthType;
import io.rsocket.metadata.WellKnownMimeType;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * A bearer token in RSocket metadata, as the authentication extension ({@code
 * message/x.rsocket.authentication.v0}) carries it and Spring Security's RSocket support sends it:
 * an entry of composite metadata, or the whole metadata when that is its MIME type. Read in place.
 */
public final class BearerMetadata {
  /** The authentication extension's MIME type. */
  public static final String MIME_TYPE =
      WellKnownMimeType.MESSAGE_RSOCKET_AUTHENTICATION.getString();

  private static final String COMPOSITE =
      WellKnownMimeType.MESSAGE_RSOCKET_COMPOSITE_METADATA.getString();
  private static final int WELL_KNOWN = 0x80;

  private BearerMetadata() {}

  /** What the metadata says about who sent it. */
  public enum Verdict {
    /** No authentication entry. */
    ABSENT,
    /** A bearer token that {@link BearerTokens} accepts. */
    ACCEPTED,
    /** An authentication entry that is not an accepted bearer token, or malformed metadata. */
    REFUSED
  }

  /** Checks {@code metadata} of MIME type {@code mimeType} against {@code tokens}. */
  public static Verdict check(
      @Nullable String mimeType, @Nullable ByteBuf metadata, BearerTokens tokens) {
    if (metadata == null || metadata.readableBytes() == 0 || mimeType == null) {
      return Verdict.ABSENT;
    }
    if (MIME_TYPE.equals(mimeType)) {
      return entry(metadata, tokens);
    }
    if (!COMPOSITE.equals(mimeType)) {
      return Verdict.ABSENT;
    }
    try {
      Verdict verdict = Verdict.ABSENT;
      for (CompositeMetadata.Entry entry : new CompositeMetadata(metadata, false)) {
        if (MIME_TYPE.equals(entry.getMimeType())) {
          verdict = entry(entry.getContent(), tokens);
          if (verdict != Verdict.ACCEPTED) {
            return verdict;
          }
        }
      }
      return verdict;
    } catch (RuntimeException malformed) {
      return Verdict.REFUSED;
    }
  }

  /** Adds a bearer-token entry to {@code composite} metadata: what a client sends. */
  public static CompositeByteBuf addTo(
      CompositeByteBuf composite, ByteBufAllocator allocator, String token) {
    ByteBuf entry = AuthMetadataCodec.encodeBearerMetadata(allocator, token.toCharArray());
    CompositeMetadataCodec.encodeAndAddMetadata(
        composite, allocator, WellKnownMimeType.MESSAGE_RSOCKET_AUTHENTICATION, entry);
    return composite;
  }

  private static Verdict entry(ByteBuf content, BearerTokens tokens) {
    int at = content.readerIndex();
    int length = content.readableBytes();
    if (length < 2) {
      return Verdict.REFUSED;
    }
    int type = content.getUnsignedByte(at);
    if ((type & WELL_KNOWN) == 0
        || (type & ~WELL_KNOWN) != WellKnownAuthType.BEARER.getIdentifier()) {
      return Verdict.REFUSED;
    }
    String token = content.toString(at + 1, length - 1, StandardCharsets.UTF_8);
    return tokens.accepts(token) ? Verdict.ACCEPTED : Verdict.REFUSED;
  }
}
