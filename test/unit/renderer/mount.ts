/** Mounts a component the way main.ts does (Pinia, the client provided app-wide), with a fake client. */
import { mount, flushPromises } from '@vue/test-utils'
import { createPinia } from 'pinia'
import type { Component } from 'vue'
import { clientKey } from '../../../renderer/src/stores/client'
import type { FakeClient } from './fake-client'

export async function mountWith(component: Component, client: FakeClient, props?: Record<string, unknown>) {
  const wrapper = mount(component, {
    props,
    attachTo: document.body,
    global: { plugins: [createPinia()], provide: { [clientKey as symbol]: client } },
  })
  await flushPromises()
  return wrapper
}

export { flushPromises }
