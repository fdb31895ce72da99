/** The wizard's steps in order; the route `/wizard/<id>` names the one on screen, so a reload stays there. */
export interface WizardStep {
  id: 'interface' | 'rack' | 'image' | 'nodes' | 'dashboard'
  title: string
  /** Set while the step is not built: which work brings it. */
  comingWith?: string
}

export const wizardSteps: readonly WizardStep[] = [
  { id: 'interface', title: 'Interface' },
  { id: 'rack', title: 'Racks' },
  {
    id: 'image',
    title: 'Image',
    comingWith:
      "the image step of “The field engineer's wizard and dashboard” (after image import lands in the core)",
  },
  {
    id: 'nodes',
    title: 'Nodes',
    comingWith:
      "the capture step of “The field engineer's wizard and dashboard”: power nodes on in rack order and watch each MAC land in its slot",
  },
  {
    id: 'dashboard',
    title: 'Dashboard',
    comingWith:
      "the dashboard part of “The field engineer's wizard and dashboard”: live boot progress per node",
  },
]

export function stepIndex(id: unknown): number {
  const i = wizardSteps.findIndex((s) => s.id === id)
  return i < 0 ? 0 : i
}
