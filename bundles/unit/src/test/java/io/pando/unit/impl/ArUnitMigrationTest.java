package io.pando.unit.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.link.UnitPort;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The DS component hands every method of {@link UnitPort} to its core: none falls back to the interface's default. */
class ArUnitMigrationTest {

    @Test
    void theComponentOverridesEveryDefaultMethodOfUnitPort() throws Exception {
        List<String> inherited = new ArrayList<>();
        for (Method m : UnitPort.class.getMethods()) {
            if (m.isDefault() && ArUnit.class.getMethod(m.getName(), m.getParameterTypes()).getDeclaringClass()
                != ArUnit.class) {
                inherited.add(m.getName());
            }
        }
        assertEquals(List.of(), inherited, "ArUnit must delegate these to UnitCore");
        assertTrue(UnitCore.class.getMethod("migrates").getDeclaringClass() == UnitCore.class);
    }
}
