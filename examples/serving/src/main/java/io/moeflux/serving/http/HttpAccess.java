package io.moeflux.serving.http;

import io.moeflux.serving.auth.BearerTokens;
import io.moeflux.transport.TlsConfig;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Who may read the HTTP pages and how they are served: the bearer tokens an {@code Authorization:
 * Bearer} header must carry ({@code null}: anyone), whether {@code /status} stays open for
 * readiness probes, TLS ({@code null}: plain HTTP), and how long a connection may take to send a
 * request's headers before it is closed (slow clients that trickle headers hold no connection).
 */
public record HttpAccess(
    @Nullable BearerTokens tokens,
    boolean openStatus,
    @Nullable TlsConfig tls,
    Duration headerTimeout) {
  /** The header deadline unless one is given: 10 s. */
  public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);

  public HttpAccess {
    Objects.requireNonNull(headerTimeout, "headerTimeout");
    if (headerTimeout.isNegative() || headerTimeout.isZero()) {
      throw new IllegalArgumentException("headerTimeout must be > 0, got " + headerTimeout);
    }
  }

  /** Anyone, plain HTTP, the default header deadline. */
  public static HttpAccess open() {
    return new HttpAccess(null, true, null, DEFAULT_HEADER_TIMEOUT);
  }
}
