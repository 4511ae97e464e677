package io.pando.unit.impl;

import io.pando.api.program.ActiveProgram;
import io.pando.api.program.Datagram;
import io.pando.api.program.ProgramContext;
import org.osgi.service.component.annotations.Component;

/**
 * The built-in trusted program {@code passthrough}: every data datagram leaves unchanged on the flow it came
 * from; control information is consumed. The baseline every other program's cost is measured against.
 */
@Component(name = "io.pando.program.passthrough", service = ActiveProgram.class, property = "name=passthrough")
public class PassthroughProgram implements ActiveProgram {

    @Override
    public void process(Datagram in, ProgramContext ctx) {
        if (!in.isControl()) {
            ctx.emit(in.flow(), in.data());
        }
    }
}
