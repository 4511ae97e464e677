package io.pando.client.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.pando.artp.ArtpStats;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Map;

/** Writes the one-line JSON object that {@code --json} prints last. */
final class JsonLine {

    private static final JsonFactory FACTORY = new JsonFactory();

    /** Writes the fields of one object. */
    interface Body {
        void write(JsonGenerator json) throws IOException;
    }

    private JsonLine() {
    }

    static String object(Body body) {
        StringWriter out = new StringWriter();
        try (JsonGenerator json = FACTORY.createGenerator(out)) {
            json.writeStartObject();
            body.write(json);
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** Writes {@code name: {counter: value, ...}} in counter declaration order. */
    static void stats(JsonGenerator json, String name, ArtpStats stats) throws IOException {
        json.writeObjectFieldStart(name);
        for (Map.Entry<String, Long> e : stats.toMap().entrySet()) {
            json.writeNumberField(e.getKey(), e.getValue());
        }
        json.writeEndObject();
    }

    /** Rounds to three decimals so that the line stays readable. */
    static double round3(double v) {
        return Double.isFinite(v) ? Math.round(v * 1000.0) / 1000.0 : 0.0;
    }
}
