package io.pando.ee.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AllowlistTest {

    private static Allowlist parse(String text) throws IOException {
        return Allowlist.parse(new StringReader(text));
    }

    @Test
    void mostSpecificRuleWins() throws IOException {
        Allowlist a = parse("""
            # comment
            deny  a.** : tree
            allow a.b.*
            deny  a.b.C : class   # trailing comment
            allow a.b.C#ok
            deny  a.b.D#bad* : member
            """);
        assertEquals("tree", a.forClass("a.x.Y").reason());
        assertTrue(a.forClass("a.b.Y").allowed());
        assertEquals("class", a.forClass("a.b.C").reason());
        assertEquals("class", a.forClass("a.b.C$Inner").reason());
        assertTrue(a.forMember("a.b.C", "ok", t -> List.of(), false).allowed());
        assertFalse(a.forMember("a.b.C", "other", t -> List.of(), false).allowed());
        assertEquals("member", a.forMember("a.b.D", "badThing", t -> List.of(), false).reason());
        // a member deny applies to subtypes, also the program's own classes
        assertEquals("member", a.forMember("own.E", "badThing", t -> t.equals("own.E") ? List.of("a.b.D") : List.of(),
            true).reason());
        assertEquals("not on the allowlist", a.forClass("z.Z").reason());
    }

    @Test
    void malformedRulesNameTheirLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> parse("allow a.b.*\ndeny a.b.C\n"));
        assertTrue(e.getMessage().startsWith("allowlist line 2: a deny rule needs a reason"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> parse("permit a.b.C"));
        assertThrows(IllegalArgumentException.class, () -> parse("allow a.*.C"));
    }

    @Test
    void builtInListKeepsTheEssentials() {
        Allowlist a = Allowlist.builtIn();
        Map<String, Boolean> classes = Map.of("java.lang.String", true, "java.util.HashMap", true,
            "java.nio.ByteBuffer", true, "javax.crypto.Cipher", true, "java.lang.Thread", false,
            "java.lang.reflect.Method", false, "sun.misc.Unsafe", false, "java.io.File", false,
            "java.io.IOException", true, "java.util.concurrent.Executors", false);
        classes.forEach((c, allowed) -> assertEquals(allowed, a.forClass(c).allowed(), c));
        assertTrue(a.importable("javax.crypto"));
        assertFalse(a.importable("java.io"));
        assertFalse(a.forMember("java.lang.System", "exit", t -> List.of(), false).allowed());
        assertTrue(a.forMember("java.lang.System", "arraycopy", t -> List.of(), false).allowed());
        assertFalse(a.forMember("java.lang.Class", "getDeclaredFields", t -> List.of(), false).allowed());
    }
}
