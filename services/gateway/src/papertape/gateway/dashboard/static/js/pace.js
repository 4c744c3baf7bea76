// Live events come in bursts (a mark on every quote): the refreshes they cause are paced.

/**
 * ``task`` run at once, then at most once per ``ms``: calls while it runs or waits are folded
 * into one more run afterwards, so the last event is never left unshown.
 */
export function paced(task, ms) {
  let busy = false;
  let again = false;
  const run = () => {
    busy = true;
    again = false;
    Promise.resolve()
      .then(task)
      .finally(() => setTimeout(() => {
        busy = false;
        if (again) run();
      }, ms));
  };
  return () => {
    if (busy) again = true;
    else run();
  };
}
