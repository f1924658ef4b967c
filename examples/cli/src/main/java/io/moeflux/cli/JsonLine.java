package io.moeflux.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The one-line JSON object a command prints last, fields in insertion order. */
final class JsonLine {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final Map<String, @Nullable Object> fields = new LinkedHashMap<>();

  JsonLine put(String name, @Nullable Object value) {
    fields.put(name, value);
    return this;
  }

  @Nullable Object get(String name) {
    return fields.get(name);
  }

  @Override
  public String toString() {
    try {
      return MAPPER.writeValueAsString(fields);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
