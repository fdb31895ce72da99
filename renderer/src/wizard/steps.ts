/** The wizard's steps in order; the route `/wizard/<id>` names the one on screen, so a reload stays there. */
export interface WizardStep {
  id: 'interface' | 'rack' | 'image' | 'nodes' | 'dashboard'
  title: string
}

export const wizardSteps: readonly WizardStep[] = [
  { id: 'interface', title: 'Interface' },
  { id: 'rack', title: 'Racks' },
  { id: 'image', title: 'Image' },
  { id: 'nodes', title: 'Nodes' },
  { id: 'dashboard', title: 'Dashboard' },
]

export function stepIndex(id: unknown): number {
  const i = wizardSteps.findIndex((s) => s.id === id)
  return i < 0 ? 0 : i
}
