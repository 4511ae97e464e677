package io.pando.ee.impl;

import io.pando.ee.api.Finding;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.objectweb.asm.AnnotationVisitor;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ConstantDynamic;
import org.objectweb.asm.FieldVisitor;
import org.objectweb.asm.Handle;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * Scans the bytecode of one program class and reports every reference outside its own classes, the program API
 * and the {@link Allowlist}. Reads the class as data only (ASM); nothing is loaded or linked.
 *
 * <p>What counts as a reference: the superclass and interfaces, field and method descriptors, declared
 * exceptions, runtime-visible annotations, and in code every type instruction, field and method instruction,
 * constant (class literals, method handles), caught exception type and invokedynamic (its bootstrap method must
 * be one of {@link #BOOTSTRAPS}; method handles among its arguments, such as a lambda's implementation method or a
 * method reference, are checked like calls). Annotations with CLASS or SOURCE retention (for example the
 * Declarative Services annotations) and debug information (local variable types, generic signatures) are not
 * references: the JVM never resolves them.
 */
final class BytecodeScanner {

    /** The bootstrap methods javac uses for lambdas, method references, string concatenation and records. */
    static final Set<String> BOOTSTRAPS = Set.of(
        "java/lang/invoke/LambdaMetafactory.metafactory",
        "java/lang/invoke/LambdaMetafactory.altMetafactory",
        "java/lang/invoke/StringConcatFactory.makeConcatWithConstants",
        "java/lang/invoke/StringConcatFactory.makeConcat",
        "java/lang/runtime/ObjectMethods.bootstrap",
        "java/lang/runtime/SwitchBootstraps.typeSwitch",
        "java/lang/runtime/SwitchBootstraps.enumSwitch");

    /** Packages of the program API, internal form with trailing slash: a program may reference their classes. */
    static final List<String> API_PACKAGES = List.of("io/pando/api/program/", "io/pando/api/session/");

    private static final int MAX_FINDINGS_PER_CLASS = 200;

    private final Allowlist allowlist;
    private final Set<String> ownClasses;
    private final Function<String, List<String>> supertypes;
    private final Map<String, Finding> findings = new LinkedHashMap<>();
    private String className;

    /**
     * @param allowlist the rules
     * @param ownClasses the internal names of every class in the program bundle
     * @param supertypes direct supertypes of a class (dotted names in and out)
     */
    BytecodeScanner(Allowlist allowlist, Set<String> ownClasses, Function<String, List<String>> supertypes) {
        this.allowlist = allowlist;
        this.ownClasses = ownClasses;
        this.supertypes = supertypes;
    }

    /**
     * @param reader a parsed class of the bundle
     * @return the findings of this class, without duplicates (one per place and target)
     */
    List<Finding> scan(ClassReader reader) {
        findings.clear();
        reader.accept(new ClassScan(), ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
        return List.copyOf(findings.values());
    }

    static String dotted(String internal) {
        return internal.replace('/', '.');
    }

    static boolean inApi(String internal) {
        for (String p : API_PACKAGES) {
            if (internal.startsWith(p) && internal.indexOf('/', p.length()) < 0) {
                return true;
            }
        }
        return false;
    }

    private void add(Finding.Code code, String where, String key, String message) {
        if (findings.size() < MAX_FINDINGS_PER_CLASS) {
            findings.putIfAbsent(where + "|" + key, new Finding(code, where, message));
        }
    }

    /** Checks a type given as internal name or descriptor (arrays and primitives allowed). */
    private void type(String where, String verb, Type t) {
        switch (t.getSort()) {
            case Type.ARRAY -> type(where, verb, t.getElementType());
            case Type.OBJECT -> typeName(where, verb, t.getInternalName());
            case Type.METHOD -> {
                for (Type a : t.getArgumentTypes()) {
                    type(where, verb, a);
                }
                type(where, verb, t.getReturnType());
            }
            default -> {
                // primitive
            }
        }
    }

    private void typeName(String where, String verb, String internal) {
        if (internal.startsWith("[")) {
            type(where, verb, Type.getType(internal));
            return;
        }
        if (ownClasses.contains(internal) || inApi(internal)) {
            return;
        }
        Allowlist.Verdict v = allowlist.forClass(dotted(internal));
        if (!v.allowed()) {
            add(Finding.Code.FORBIDDEN_REFERENCE, where, internal,
                where + " " + verb + " " + dotted(internal) + ": not allowed (" + v.reason() + ")");
        }
    }

    private void member(String where, String verb, String owner, String name, String desc, boolean method) {
        if (owner.startsWith("[")) {
            // clone() and length of arrays; the element type decides
            type(where, verb, Type.getType(owner));
            return;
        }
        if (inApi(owner)) {
            return;
        }
        boolean own = ownClasses.contains(owner);
        Allowlist.Verdict v = allowlist.forMember(dotted(owner), name, supertypes, own);
        if (!v.allowed()) {
            String target = dotted(owner) + "." + name + (method ? desc : "");
            add(Finding.Code.FORBIDDEN_REFERENCE, where, target,
                where + " " + verb + " " + target + ": not allowed (" + v.reason() + ")");
        }
    }

    private void handle(String where, Handle h) {
        boolean method = h.getTag() >= Opcodes.H_INVOKEVIRTUAL;
        member(where, "refers to", h.getOwner(), h.getName(), h.getDesc(), method);
    }

    private void constant(String where, Object cst) {
        if (cst instanceof Type t) {
            type(where, "uses", t);
        } else if (cst instanceof Handle h) {
            handle(where, h);
        } else if (cst instanceof ConstantDynamic cd) {
            bootstrap(where, cd.getBootstrapMethod(), "a dynamic constant");
            for (int i = 0; i < cd.getBootstrapMethodArgumentCount(); i++) {
                constant(where, cd.getBootstrapMethodArgument(i));
            }
        }
    }

    private void bootstrap(String where, Handle bsm, String what) {
        String id = bsm.getOwner() + "." + bsm.getName();
        if (!BOOTSTRAPS.contains(id)) {
            add(Finding.Code.FORBIDDEN_BOOTSTRAP, where, "bsm:" + id, where + " uses " + what + " bootstrapped by "
                + dotted(bsm.getOwner()) + "." + bsm.getName() + ": not allowed (only lambdas, method references, "
                + "string concatenation and records)");
        }
    }

    private AnnotationVisitor annotation(String where, String desc, boolean visible) {
        if (visible) {
            type(where, "is annotated with", Type.getType(desc));
        }
        return null;
    }

    private final class ClassScan extends ClassVisitor {

        ClassScan() {
            super(Opcodes.ASM9);
        }

        @Override
        public void visit(int version, int access, String name, String signature, String superName,
            String[] interfaces) {
            className = dotted(name);
            if (superName != null) {
                typeName(className, "extends", superName);
            }
            if (interfaces != null) {
                for (String i : interfaces) {
                    typeName(className, "implements", i);
                }
            }
        }

        @Override
        public AnnotationVisitor visitAnnotation(String descriptor, boolean visible) {
            return annotation(className, descriptor, visible);
        }

        @Override
        public FieldVisitor visitField(int access, String name, String descriptor, String signature, Object value) {
            String where = className + "." + name;
            type(where, "has type", Type.getType(descriptor));
            return new FieldVisitor(Opcodes.ASM9) {
                @Override
                public AnnotationVisitor visitAnnotation(String desc, boolean visible) {
                    return annotation(where, desc, visible);
                }
            };
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
            String[] exceptions) {
            String where = className + "." + name + descriptor;
            if ("finalize".equals(name) && "()V".equals(descriptor) && (access & Opcodes.ACC_STATIC) == 0) {
                add(Finding.Code.FINALIZER, where, "finalize", where + " overrides Object.finalize(): not allowed "
                    + "(finalizers run on the JVM's finalizer thread, outside the program's budget)");
            }
            type(where, "uses", Type.getMethodType(descriptor));
            if (exceptions != null) {
                for (String e : exceptions) {
                    typeName(where, "throws", e);
                }
            }
            return new CodeScan(where);
        }
    }

    private final class CodeScan extends MethodVisitor {

        private final String where;

        CodeScan(String where) {
            super(Opcodes.ASM9);
            this.where = where;
        }

        @Override
        public AnnotationVisitor visitAnnotation(String descriptor, boolean visible) {
            return annotation(where, descriptor, visible);
        }

        @Override
        public AnnotationVisitor visitParameterAnnotation(int parameter, String descriptor, boolean visible) {
            return annotation(where, descriptor, visible);
        }

        @Override
        public void visitTypeInsn(int opcode, String type) {
            String verb = switch (opcode) {
                case Opcodes.NEW -> "instantiates";
                case Opcodes.ANEWARRAY -> "creates an array of";
                case Opcodes.CHECKCAST -> "casts to";
                default -> "tests instanceof";
            };
            typeName(where, verb, type);
        }

        @Override
        public void visitFieldInsn(int opcode, String owner, String name, String descriptor) {
            String verb = opcode == Opcodes.GETFIELD || opcode == Opcodes.GETSTATIC ? "reads" : "writes";
            member(where, verb, owner, name, descriptor, false);
        }

        @Override
        public void visitMethodInsn(int opcode, String owner, String name, String descriptor, boolean isInterface) {
            member(where, "calls", owner, name, descriptor, true);
        }

        @Override
        public void visitInvokeDynamicInsn(String name, String descriptor, Handle bsm, Object... args) {
            bootstrap(where, bsm, "invokedynamic");
            type(where, "uses", Type.getMethodType(descriptor));
            for (Object a : args) {
                constant(where, a);
            }
        }

        @Override
        public void visitLdcInsn(Object value) {
            constant(where, value);
        }

        @Override
        public void visitMultiANewArrayInsn(String descriptor, int numDimensions) {
            type(where, "creates an array of", Type.getType(descriptor));
        }

        @Override
        public void visitTryCatchBlock(Label start, Label end, Label handler, String type) {
            if (type != null) {
                typeName(where, "catches", type);
            }
        }
    }
}
