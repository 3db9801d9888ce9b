// The web page's age and progress cells, the same text `mlopsctl get` prints.
import type { StatusRecord } from "../sources/state/index.ts";
import type { RowFormat } from "../web/index.ts";
import { PRINTER_COLUMNS } from "./columns.ts";
import { age } from "./output.ts";

export const webRowFormat: RowFormat = {
  age,
  progress: (record: StatusRecord) => {
    const column = PRINTER_COLUMNS[record.kind].find((c) => c.header === "PROGRESS");
    const value = column ? column.value((record.status ?? {}) as never) : "";
    return value === "<none>" ? "" : value;
  },
};
