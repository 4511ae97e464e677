package io.pando.artp.testing;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;

/**
 * Instances of DS configuration annotations for the tests of every Pando bundle (shared through this test jar):
 * the given values, the annotation's defaults otherwise.
 */
public final class Configs {

    private Configs() {
    }

    public static <A extends Annotation> A of(Class<A> type, Map<String, Object> values) {
        Object proxy = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, args) -> {
            switch (m.getName()) {
                case "annotationType":
                    return type;
                case "toString":
                    return type.getSimpleName() + values;
                case "hashCode":
                    return System.identityHashCode(p);
                case "equals":
                    return p == args[0];
                default:
                    return valueOf(m, values);
            }
        });
        return type.cast(proxy);
    }

    private static Object valueOf(Method m, Map<String, Object> values) {
        Object v = values.containsKey(m.getName()) ? values.get(m.getName()) : m.getDefaultValue();
        if (v == null) {
            throw new IllegalArgumentException("no value for " + m.getName() + " and no default");
        }
        return v;
    }
}
