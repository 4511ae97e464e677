package io.pando.shell.cli;

import io.pando.api.unit.UnitId;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code pando:unit-undrain}: a drained unit takes new sessions again ({@code RouterService.undrainUnit}). */
@Service
@Command(scope = "pando", name = "unit-undrain", description = "Let a drained unit take new sessions again")
public class UnitUndrainCommand extends RouterAction {

    @Argument(index = 0, name = "unit", required = true, description = "The unit id (see pando:units)")
    String unit;

    @Override
    public Object execute() {
        UnitId u = UnitId.of(unit);
        boolean was = router().undrainUnit(u);
        if (json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("unit", u.toString());
            j.put("was_drained", was);
            printJson(System.out, Json.object(j));
            return null;
        }
        System.out.println(was ? "unit " + u + " takes new sessions again" : "unit " + u + " was not drained");
        return null;
    }
}
