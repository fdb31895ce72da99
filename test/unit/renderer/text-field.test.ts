// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import { defineComponent, h, ref } from 'vue'
import TextField from '../../../renderer/src/components/TextField.vue'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

type Props = { error?: string | null; hint?: string; trim?: boolean; mono?: boolean; numeric?: boolean }

/** A parent holding the text with v-model, as the wizard steps do; `seen` is what its handlers read. */
function mountInParent(props: Props = {}, initial = '') {
  const text = ref(initial)
  const seen: string[] = []
  const Parent = defineComponent({
    setup: () => () =>
      h(TextField, {
        id: 'tf',
        label: 'Rack name',
        error: props.error,
        hint: props.hint,
        mono: props.mono,
        numeric: props.numeric,
        modelValue: text.value,
        modelModifiers: props.trim ? { trim: true } : undefined,
        'onUpdate:modelValue': (v: string) => (text.value = v),
        onInput: () => seen.push(`input:${text.value}`),
        onBlur: () => seen.push(`blur:${text.value}`),
      }),
  })
  wrapper = mount(Parent, { attachTo: document.body })
  return { wrapper, text, seen, input: wrapper.get<HTMLInputElement>('input') }
}

describe('TextField', () => {
  it('labels its input: the label points at the input id', () => {
    const { wrapper, input } = mountInParent()
    expect(wrapper.get('label').attributes('for')).toBe('tf')
    expect(input.attributes('id')).toBe('tf')
    expect(input.attributes('type')).toBe('text')
    expect(wrapper.get('label').text()).toBe('Rack name')
  })

  it('without error: no error text, not invalid, described only by the hint', () => {
    const { wrapper, input } = mountInParent({ hint: 'e.g. r1' })
    expect(wrapper.find('[data-error-for="tf"]').exists()).toBe(false)
    expect(input.attributes('aria-invalid')).toBeUndefined()
    expect(input.attributes('aria-describedby')).toBe('tf-hint')
    expect(wrapper.get('#tf-hint').text()).toBe('e.g. r1')
  })

  it('shows the error, sets aria-invalid and points aria-describedby at hint and error', () => {
    const { wrapper, input } = mountInParent({ error: 'name taken', hint: 'e.g. r1' })
    expect(wrapper.get('[data-error-for="tf"]').text()).toBe('name taken')
    expect(wrapper.get('[data-error-for="tf"]').attributes('id')).toBe('tf-error')
    expect(input.attributes('aria-invalid')).toBe('true')
    expect(input.attributes('aria-describedby')).toBe('tf-hint tf-error')
    expect(wrapper.get('.field').classes()).toContain('invalid')
  })

  it('v-model: shows the value and writes typed text back, before input and blur reach the parent', async () => {
    const { input, text, seen } = mountInParent({}, 'r1')
    expect(input.element.value).toBe('r1')
    await input.setValue('r2')
    expect(text.value).toBe('r2')
    await input.trigger('blur')
    expect(seen).toEqual(['input:r2', 'blur:r2'])
    text.value = 'r3'
    await wrapper!.vm.$nextTick()
    expect(input.element.value).toBe('r3')
  })

  it('v-model.trim trims the value and, on change, what the field shows', async () => {
    const { input, text } = mountInParent({ trim: true })
    await input.setValue('  198.18.0.0/24 ')
    expect(text.value).toBe('198.18.0.0/24')
    await input.trigger('change')
    expect(input.element.value).toBe('198.18.0.0/24')
  })

  it('without .trim keeps spaces as typed', async () => {
    const { input, text } = mountInParent()
    await input.setValue(' a b ')
    await input.trigger('change')
    expect(text.value).toBe(' a b ')
    expect(input.element.value).toBe(' a b ')
  })

  it('mono and numeric set the class and inputmode, and only when asked', () => {
    const plain = mountInParent().input
    expect(plain.classes()).toEqual([])
    expect(plain.attributes('inputmode')).toBeUndefined()
    expect(plain.attributes('spellcheck')).toBe('false')
    wrapper!.unmount()
    const styled = mountInParent({ mono: true, numeric: true }).input
    expect(styled.classes()).toEqual(['mono'])
    expect(styled.attributes('inputmode')).toBe('numeric')
  })
})
